using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Provisioning.Worker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class OutboxEncryptedPassword : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<byte[]>(
                name: "secret",
                table: "outbox",
                type: "bytea",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "secret",
                table: "outbox");
        }
    }
}
