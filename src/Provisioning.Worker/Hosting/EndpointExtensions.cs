namespace Provisioning.Worker.Hosting;

public static class EndpointExtensions
{
    public static WebApplication MapProvisioningEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready");
        return app;
    }
}
