namespace Lcluster.Daemon.Node;

/// <summary>A job's files could not be made ready (inputs unreachable, refused, or not placeable): the message is its start failure.</summary>
internal sealed class JobFilesException(string message, Exception? inner = null) : Exception(message, inner);
