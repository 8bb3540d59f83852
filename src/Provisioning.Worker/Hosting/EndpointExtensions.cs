using Provisioning.Worker.Health;
using Provisioning.Worker.Metrics;

namespace Provisioning.Worker.Hosting;

public static class EndpointExtensions
{
    public static WebApplication MapProvisioningEndpoints(this WebApplication app)
    {
        app.MapProvisioningHealthEndpoints();
        app.MapProvisioningMetricsEndpoint();
        return app;
    }
}
