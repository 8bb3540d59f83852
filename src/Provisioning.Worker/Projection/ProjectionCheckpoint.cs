namespace Provisioning.Worker.Projection;

/// <summary>What the passwd projection last handed to the broker: every change below <see cref="AppliedXmin"/> is in the file.</summary>
public sealed class ProjectionCheckpoint
{
    public const int SingletonId = 1;

    public int Id { get; init; } = SingletonId;

    /// <summary>xmin of the database snapshot the file was rendered from.</summary>
    public long AppliedXmin { get; set; }

    public int ActiveDevices { get; set; }

    public DateTimeOffset AppliedAt { get; set; }
}
