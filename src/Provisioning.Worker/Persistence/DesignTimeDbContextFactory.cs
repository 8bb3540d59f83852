using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Provisioning.Worker.Persistence;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting the worker.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<ProvisioningDbContext>
{
    public ProvisioningDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ProvisioningDbContext>()
            .UseNpgsql("Host=localhost;Database=provisioning_design")
            .Options);
}
