using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Provisioning.Worker.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class BrokerFleet : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "projection_checkpoint");

            migrationBuilder.AddColumn<string>(
                name: "broker_group",
                table: "outbox",
                type: "text",
                nullable: false,
                defaultValue: "default");

            migrationBuilder.AddColumn<long>(
                name: "change_xid",
                table: "outbox",
                type: "bigint",
                nullable: false,
                defaultValueSql: "pg_current_xact_id()::text::bigint");

            // The fleet (docs/fleet.md): each broker's checkpoint and heartbeat, and where each tenant lives. Raw tables,
            // read and written by SQL only (Brokers/), so the EF model does not carry pg_snapshot.
            migrationBuilder.Sql(
                """
                CREATE TABLE brokers (
                    name text PRIMARY KEY,
                    group_name text NOT NULL,
                    applied_snapshot pg_snapshot NULL,
                    active_devices integer NOT NULL DEFAULT 0,
                    applied_at timestamptz NULL,
                    heartbeat_at timestamptz NULL,
                    taken_out boolean NOT NULL DEFAULT false);
                CREATE INDEX ix_brokers_group ON brokers (group_name);

                CREATE TABLE tenant_placements (
                    tenant_id text PRIMARY KEY,
                    group_name text NOT NULL,
                    placed_at timestamptz NOT NULL DEFAULT now());
                CREATE INDEX ix_tenant_placements_group ON tenant_placements (group_name);
                INSERT INTO tenant_placements (tenant_id, group_name) SELECT DISTINCT tenant_id, 'default' FROM devices;
                """);
            migrationBuilder.Sql(Outbox.ReplyRelease.FunctionSql);

            // Wake-ups across processes (Persistence/DatabaseNotifications.cs): agents follow device changes, the
            // dispatcher follows checkpoints and operators' out/in. Delivered at commit, merged within a transaction.
            migrationBuilder.Sql(
                """
                CREATE FUNCTION notify_device_changes() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('provisioning_device_changes', '');
                    RETURN NULL;
                END $$;
                CREATE TRIGGER devices_notify AFTER INSERT OR UPDATE ON devices FOR EACH STATEMENT EXECUTE FUNCTION notify_device_changes();

                CREATE FUNCTION notify_broker_applied() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' OR OLD.applied_snapshot::text IS DISTINCT FROM NEW.applied_snapshot::text
                       OR OLD.taken_out <> NEW.taken_out OR OLD.group_name <> NEW.group_name THEN
                        PERFORM pg_notify('provisioning_broker_applied', NEW.group_name);
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER brokers_notify AFTER INSERT OR UPDATE ON brokers FOR EACH ROW EXECUTE FUNCTION notify_broker_applied();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER brokers_notify ON brokers;
                DROP FUNCTION notify_broker_applied();
                DROP TRIGGER devices_notify ON devices;
                DROP FUNCTION notify_device_changes();
                DROP FUNCTION reply_released(text, bigint, interval);
                DROP TABLE tenant_placements;
                DROP TABLE brokers;
                """);

            migrationBuilder.DropColumn(
                name: "broker_group",
                table: "outbox");

            migrationBuilder.DropColumn(
                name: "change_xid",
                table: "outbox");

            migrationBuilder.CreateTable(
                name: "projection_checkpoint",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false),
                    active_devices = table.Column<int>(type: "integer", nullable: false),
                    applied_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    applied_xmin = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_projection_checkpoint", x => x.id);
                });
        }
    }
}
