namespace Provisioning.Worker.Consumers;

/// <summary>
/// A message that kept taking the worker down: thrown instead of processing it once more, so that MassTransit moves it
/// to the <c>_error</c> queue (with its fault headers) and the worker stops crash-looping on it.
/// </summary>
public sealed class PoisonMessageException(string message) : Exception(message);
