# syntax=docker/dockerfile:1
#
# One image, two binaries: basiq-bff (the default entrypoint) and basiq-sim (the offline
# Basiq simulator).
#
#   docker build -t basiq-bff .
#   docker run --rm -p 8080:8080 --env-file .env basiq-bff
#
# The simulator, from the same image:
#
#   docker run --rm -p 4010:4010 --entrypoint /usr/local/bin/basiq-sim basiq-bff
#
# The admin commands (README "Admin commands"), from the same image and configuration:
#
#   docker run --rm --env-file .env basiq-bff admin jobs --stuck
#
# `docker compose up` (docker-compose.yml) runs Postgres, basiq-sim and basiq-bff wired together.
#
# Build arguments (all optional):
#   RUST_VERSION  toolchain of the build stages (at least the `rust-version` of Cargo.toml, 1.94)
#   VERSION, REVISION, SOURCE  OCI labels, e.g.
#     docker build --build-arg VERSION="$(git describe --tags --always)" \
#                  --build-arg REVISION="$(git rev-parse HEAD)" -t basiq-bff .
#
# The repository is a cargo workspace: the service at the root, the simulator in
# crates/basiq-sim (and the stop signal both share, crates/shutdown); one build makes both
# binaries. The build needs no database: sqlx's query
# macros read the committed `.sqlx/` data (SQLX_OFFLINE=true), and `migrations/` is embedded
# into the binary at compile time, so both directories must be in the build context
# (.dockerignore keeps them).
#
# Build and runtime stages are both Debian 13 (trixie), so the binaries run against the glibc
# they were linked with.

ARG RUST_VERSION=1.95

# cargo-chef splits the build in two so the slow part, compiling the dependencies, is a layer
# that is rebuilt only when Cargo.toml or Cargo.lock change.
FROM lukemathwalker/cargo-chef:latest-rust-${RUST_VERSION}-slim-trixie AS chef
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ENV SQLX_OFFLINE=true
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: this layer is cached until the recipe changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin basiq-bff --bin basiq-sim

# Runtime: no shell, no package manager, runs as uid 65532. The `cc` flavour carries what a
# Rust binary links to (glibc, libgcc_s) plus the CA certificates that rustls' platform
# verifier reads to check Basiq's TLS certificate.
FROM gcr.io/distroless/cc-debian13:nonroot AS runtime

ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="basiq-bff" \
      org.opencontainers.image.description="Backend-for-frontend for the Basiq open-banking API, with the basiq-sim simulator" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian13:nonroot"

COPY --from=builder /app/target/release/basiq-bff /app/target/release/basiq-sim /usr/local/bin/

# Listen on every interface inside the container (the simulator's own default is loopback only,
# which would be unreachable through a published port). Both can be overridden with -e.
ENV BIND_ADDR=0.0.0.0:8080 \
    BASIQ_SIM_ADDR=0.0.0.0:4010

# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532

# 8080: basiq-bff. basiq-sim listens on 4010 (publish it with -p 4010:4010 when you run it).
EXPOSE 8080

# No HEALTHCHECK: the image has no shell or curl to run one. Probe over HTTP from outside
# instead: GET /healthz for liveness, GET /readyz for readiness (database reachable and a
# valid Basiq server token held), e.g. a Kubernetes httpGet probe or your load balancer's check.
# basiq-bff stops gracefully on SIGTERM, Docker's default stop signal.
ENTRYPOINT ["/usr/local/bin/basiq-bff"]
