# The worker image (compose/docker-compose.yml builds it): restore and publish with the SDK, run on the
# ASP.NET runtime as a non-root user.
#   docker build -t provisioning-worker .
# Without a registry (scripts/containers.sh, docs/testing.md "The container path"): the app from a publish made on
# the host and a runtime image built from Debian's packages; same user, entrypoint and health check.
#   dotnet publish src/Provisioning.Worker -c Release -o artifacts/container-publish
#   DOCKER_BUILDKIT=1 docker build --build-arg APP_STAGE=prebuilt --build-arg RUNTIME_IMAGE=provisioning-local/dotnet-aspnet:10.0 .
# (BuildKit builds only the stages the runtime needs, so the SDK image is never pulled then; the legacy builder builds
# every stage, and the prebuilt one wants artifacts/container-publish even for the default build: use BuildKit.)
#
# APP_UID is the user the worker runs as. It must be the user Mosquitto runs as (eclipse-mosquitto drops
# to uid 1883): the reload is a SIGHUP, and an unprivileged process may only signal its own user's.

ARG DOTNET_VERSION=10.0
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION}
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}
# Where /app comes from: "build" (restore and publish in the SDK image) or "prebuilt" (artifacts/container-publish).
ARG APP_STAGE=build

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Project files first: the restore layer stays cached until a package changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Provisioning.Contracts/Provisioning.Contracts.csproj src/Provisioning.Contracts/
COPY src/Provisioning.Worker/Provisioning.Worker.csproj src/Provisioning.Worker/
RUN dotnet restore src/Provisioning.Worker/Provisioning.Worker.csproj
COPY src/ src/
RUN dotnet publish src/Provisioning.Worker/Provisioning.Worker.csproj --configuration Release --no-restore --output /app

FROM scratch AS prebuilt
COPY artifacts/container-publish/ /app/

FROM ${APP_STAGE} AS app

FROM ${RUNTIME_IMAGE} AS runtime
ARG APP_UID=1883
RUN groupadd --gid "${APP_UID}" provisioning \
 && useradd --uid "${APP_UID}" --gid "${APP_UID}" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin provisioning
WORKDIR /app
COPY --from=app /app ./
USER ${APP_UID}:${APP_UID}
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    DOTNET_NOLOGO=1 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
EXPOSE 8080
# bash's /dev/tcp: the runtime image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "Provisioning.Worker.dll"]
