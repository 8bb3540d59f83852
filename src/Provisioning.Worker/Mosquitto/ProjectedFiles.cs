using Microsoft.Extensions.Options;
using Provisioning.Worker.Configuration;
using Provisioning.Worker.Projection;
using Provisioning.Worker.Topics;

namespace Provisioning.Worker.Mosquitto;

/// <summary>The files a projection cycle writes: the passwd file, then the acl_file when topic access is managed.</summary>
public static class ProjectedFiles
{
    public static IReadOnlyList<IProjectedFile> Create(IServiceProvider provider)
    {
        var options = provider.GetRequiredService<IOptions<BrokerTargetOptions>>().Value;
        var status = provider.GetRequiredService<ProjectionStatus>();
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProjectionRunner));
        var clock = provider.GetRequiredService<TimeProvider>();
        var files = new List<IProjectedFile> { new PasswdProjection(options, status, clock, logger) };
        if (options.ManagesTopics)
        {
            files.Add(new AclProjection(options, provider.GetRequiredService<TopicRules>(), status, clock, logger));
        }

        return files;
    }
}
