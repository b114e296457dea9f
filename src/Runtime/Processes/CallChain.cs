using System.Runtime.InteropServices;
using Lcluster.Runtime.Native;

namespace Lcluster.Runtime.Processes;

/// <summary>
/// A sequence of libc calls for a clone child to run without any code of ours: each call is a ucontext made by
/// makecontext on a stack of its own, and its uc_link is the next one, so when a call returns glibc's context
/// trampoline starts the next. Results are not looked at (there is no branching); the chain ends in a call that does
/// not return (execve, then _exit). Built and freed on an ordinary thread; the child only reads it.
/// </summary>
internal sealed unsafe class CallChain : IDisposable
{
    private const int StackBytes = 8 << 10;
    private const int SlotBytes = UserContext.Bytes + StackBytes;
    private readonly List<Call> _calls = [];
    private byte* _memory;

    /// <summary>Adds a call made with every signal blocked (no handler of the runtime may run in the child).</summary>
    public void Add(nint function, params nint[] arguments) => _calls.Add(new Call(function, arguments, SignalsBlocked: true));

    /// <summary>Adds a call made with no signal blocked: the execve, so the new program starts with an empty mask.</summary>
    public void AddUnblocked(nint function, params nint[] arguments) => _calls.Add(new Call(function, arguments, SignalsBlocked: false));

    /// <summary>Lays the contexts out in unmanaged memory; returns the first, which setcontext starts.</summary>
    public UserContext* Build()
    {
        if (_memory != null)
            throw new InvalidOperationException("the call chain is built already");
        _memory = (byte*)NativeMemory.AllocZeroed((nuint)(_calls.Count * SlotBytes));
        for (var i = _calls.Count - 1; i >= 0; i--)
        {
            var context = Slot(i);
            // getcontext in place: it points the context's FPU state into the struct itself.
            if (CloneCalls.GetContext(context) != 0)
                throw Errno.Fail("getcontext", "spawn call chain");
            context->Link = i + 1 < _calls.Count ? Slot(i + 1) : null;
            context->StackBase = (byte*)context + UserContext.Bytes;
            context->StackFlags = 0;
            context->StackBytes = StackBytes;
            var call = _calls[i];
            for (var word = 0; word < UserContext.SigsetWords; word++)
                context->SignalMask[word] = call.SignalsBlocked ? ulong.MaxValue : 0;
            var a = call.Arguments;
            if (a.Length > 6)
                throw new ArgumentException($"a chained call takes at most 6 arguments, not {a.Length}");
            nint Argument(int k) => k < a.Length ? a[k] : 0;
            CloneCalls.MakeContext(context, call.Function, a.Length,
                Argument(0), Argument(1), Argument(2), Argument(3), Argument(4), Argument(5));
        }
        return Slot(0);
    }

    public void Dispose()
    {
        if (_memory != null)
            NativeMemory.Free(_memory);
        _memory = null;
    }

    private UserContext* Slot(int index) => (UserContext*)(_memory + (nint)index * SlotBytes);

    private sealed record Call(nint Function, nint[] Arguments, bool SignalsBlocked);
}
