# syntax=docker/dockerfile:1
#
# sts in a container: built on Debian 12 with the Rust toolchain, run on debian:bookworm-slim
# with only the shared libraries it links (libxmlsec1 with its OpenSSL back end, libxml2,
# OpenSSL) as an unprivileged user. See README.md, "Install and run as a service".
#
#   docker build -t sts .
#   docker run -d --name sts -p 8080:8080 -v sts-data:/var/lib/sts sts
#   docker logs sts        # first start: the generated passwords of `amadmin` and `demo`, printed once
#
# A bind-mounted data directory must be writable by uid 10001. Never built by this project: its
# machines have no Docker engine and no registry for the base images (see README.md); the file is
# checked by reading it (tests/it/packaging.rs).
#
# Configuration: /etc/sts/sts.toml (deploy/sts.toml, every key explained), overridden by STS_*
# variables (`-e STS_STORE_URL=postgres://...`); mount your own file over it.
#
# The URL clients use: set it (`-e STS_PUBLIC_BASE_URL=https://sts.example.com`). Without it the
# server names its listener, http://0.0.0.0:8080, in WSDLs, metadata and issuer URLs, which no
# client can reach (it warns at start); the image cannot know the right value.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
# libxmlsec1-dev and libxml2-dev: the xmlsec bindings (bindgen needs libclang); libssl-dev: the
# system OpenSSL, the same one libxmlsec1 links (never a vendored copy: see deny.toml).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config libxml2-dev libxmlsec1-dev libxmlsec1-openssl libssl-dev libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The registry and target directory are build caches, not layers; the binary is copied out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sts \
 && install -m 0755 target/release/sts /usr/local/bin/sts \
 && /usr/local/bin/sts man --out-dir /usr/local/share/man/man1 \
 && /usr/local/bin/sts completions bash > /usr/local/share/sts.bash

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# Runtime libraries only: libxmlsec1 and its OpenSSL crypto back end (loaded at start), libxml2,
# OpenSSL 3; ca-certificates for TLS to PostgreSQL, directories and plug-ins.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libxmlsec1 libxmlsec1-openssl libxml2 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A dedicated unprivileged user owning only the data directory.
RUN groupadd --system --gid 10001 sts \
 && useradd --system --uid 10001 --gid sts --home-dir /var/lib/sts --no-create-home \
      --shell /usr/sbin/nologin sts \
 && install -d -m 0700 -o sts -g sts /var/lib/sts \
 && install -d -m 0755 /etc/sts
COPY --from=build /usr/local/bin/sts /usr/local/bin/sts
COPY --from=build /usr/local/share/man/man1/ /usr/local/share/man/man1/
COPY --from=build /usr/local/share/sts.bash /usr/share/bash-completion/completions/sts
COPY deploy/sts.toml /etc/sts/sts.toml
ENV STS_CONFIG=/etc/sts/sts.toml \
    STS_DATA_DIR=/var/lib/sts \
    STS_LISTEN=0.0.0.0:8080
# Keys, users, instances and the SQLite store: keep them across containers.
VOLUME ["/var/lib/sts"]
EXPOSE 8080
USER sts:sts
WORKDIR /var/lib/sts
# Liveness without curl: `sts health` GETs /health/live on the loopback address of STS_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/sts", "health", "--timeout-secs", "4"]
# SIGTERM drains requests in flight, then exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sts"]
CMD ["serve"]
