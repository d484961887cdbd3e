# Veil's image: `veil`, `veil-tm` and `veil-sim` on Debian bookworm, run as an unprivileged
# user. The default target builds from source (what users run):
#
#   docker build -t veil .
#
# The `prebuilt` target packages binaries built beforehand into deploy/image/bin/ (how CI
# makes the image without compiling RocksDB twice):
#
#   cp target/release/{veil,veil-tm,veil-sim} deploy/image/bin/
#   docker build --target prebuilt -t veil .
#
# Without a registry, point the bases at local images: --build-arg RUST_IMAGE=… RUNTIME_IMAGE=….
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && cp target/release/veil target/release/veil-tm target/release/veil-sim /out/

FROM ${RUNTIME_IMAGE} AS base
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin veil \
 && mkdir -p /data && chown veil:veil /data
COPY deploy/image/healthcheck /usr/local/bin/veil-healthcheck
# JSON-RPC HTTP and WS, p2p, metrics; the TM's P2P, ThirdParty and Q2T over HTTP.
EXPOSE 8545 8546 30303 6060 9000 9080 9101
# A node answers GET /health (503 while block import is halted); a TM answers /upcheck.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["veil-healthcheck"]
USER veil
WORKDIR /data
ENTRYPOINT ["veil"]

FROM base AS prebuilt
COPY deploy/image/bin/veil deploy/image/bin/veil-tm deploy/image/bin/veil-sim /usr/local/bin/

FROM base AS runtime
COPY --from=build /out/ /usr/local/bin/
