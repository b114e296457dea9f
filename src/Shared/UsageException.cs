namespace Lcluster.Shared;

/// <summary>
/// A command line the program cannot act on. Each program prints "NAME: message" and "Try 'NAME --help'."
/// on stderr and exits 2; the message names the flag and what it wants.
/// </summary>
internal sealed class UsageException(string message) : Exception(message);
