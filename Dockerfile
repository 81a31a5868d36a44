# canhgac's image: one image for every component (`canhgac run --component ...`, see
# docker-compose.yml). The wheel is built in a first stage, so neither the sources nor
# the build tools reach the image that runs.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir "build>=1.2,<2"
# The whole context: .dockerignore keeps out everything but the packaged folders' sources.
# No cargo in this stage, so hatch_build.py builds a pure wheel: the image runs the Python
# literal scan and evtx flattening (same results; bench/README.md has the speed of each).
COPY . .
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim
# tshark (and its dumpcap) for packet captures. dumpcap is installed with its capture
# capabilities for the wireshark group only; live capture also needs the container to
# have NET_RAW and NET_ADMIN (cap_add) and the host's network.
RUN echo "wireshark-common wireshark-common/install-setuid boolean true" | debconf-set-selections \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/canhgac \
        --shell /usr/sbin/nologin canhgac \
    && usermod --append --groups wireshark canhgac \
    && mkdir -p /var/lib/canhgac /etc/canhgac \
    && chown canhgac:canhgac /var/lib/canhgac
COPY --from=build /dist/ /tmp/dist/
RUN pip install --no-cache-dir /tmp/dist/*.whl && rm -rf /tmp/dist

ENV CANHGAC_DATA_DIR=/var/lib/canhgac \
    PYTHONUNBUFFERED=1
USER canhgac
WORKDIR /var/lib/canhgac
VOLUME ["/var/lib/canhgac"]
EXPOSE 8080
# Every component answers /healthz on its HTTP port (CANHGAC_API__PORT, 8080 unless set).
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CANHGAC_API__PORT', '8080') + '/healthz', timeout=5)"]
ENTRYPOINT ["canhgac"]
CMD ["run", "--host", "0.0.0.0"]
