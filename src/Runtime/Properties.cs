using System.Runtime.CompilerServices;

// Every P/Invoke here is blittable (LibraryImport generates the marshalling), so
// ReadyToRun can precompile the stubs: the init then runs no JIT before execve.
[assembly: DisableRuntimeMarshalling]
