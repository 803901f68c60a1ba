# Meridian in a container: `docker build -t meridian .` then
#   docker run -d --name meridian -p 53:53/udp -p 53:53/tcp meridian
# serves the example zones from packaging/docker/meridian.yaml; mount your own configuration over
# /etc/meridian (read-only) to serve yours: docs/OPERATIONS.md, "Docker".

# Build stage: the Swift toolchain the project is built with, plus the C libraries' headers.
# Packages are not pinned: bookworm's stable updates are security fixes, wanted at every build.
FROM swift:6.3.1-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libldns-dev libmaxminddb-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change in Sources does not fetch them again.
COPY Package.swift Package.resolved* ./
RUN swift package resolve
# Test targets are part of the package graph: their directories must exist to build.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product meridian \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/meridian" /out/meridian

# Runtime stage: the binary (Swift's runtime linked in) and the shared C libraries it uses.
FROM debian:bookworm-slim
# bind9-dnsutils: dig, for the HEALTHCHECK and for scripts/smoke-style checks from inside.
# A fixed numeric user, so that Kubernetes' runAsNonRoot can verify it and volumes can be chowned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libldns3 libmaxminddb0 ca-certificates bind9-dnsutils \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10053 meridian \
    && useradd --system --uid 10053 --gid meridian --home-dir /var/lib/meridian --no-create-home --shell /usr/sbin/nologin meridian \
    && install -d -o meridian -g meridian -m 0750 /var/lib/meridian
COPY --from=build /out/meridian /usr/local/bin/meridian
COPY packaging/docker/meridian.yaml /etc/meridian/meridian.yaml
COPY zones /etc/meridian/zones
# Docker (20.10 and later) lets any user of a container bind ports below 1024
# (net.ipv4.ip_unprivileged_port_start=0); other runtimes: docs/OPERATIONS.md.
USER 10053:10053
WORKDIR /var/lib/meridian
EXPOSE 53/udp 53/tcp
# Any response, even REFUSED for the root zone, shows the server answering.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD ["dig", "@127.0.0.1", "-p", "53", "+time=2", "+tries=1", "+norec", ".", "SOA"]
ENTRYPOINT ["/usr/local/bin/meridian"]
CMD ["serve", "--config", "/etc/meridian/meridian.yaml"]
