# fraudwatch: one image for the feed, the pipeline, the scoring API, the dashboard and the
# one-shot jobs (migrations, model bootstrap). Built by docker-compose.yml (context: repo root).
FROM python:3.11-slim
# LightGBM needs the OpenMP runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/fraudwatch
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# the same pinned versions and extras as `make venv` (every service of the stack runs this image)
RUN pip install --no-cache-dir -c constraints.txt ".[api,dashboard,postgres,redis]" \
    && useradd --create-home --uid 1000 fraudwatch && mkdir /data && chown fraudwatch /data
USER fraudwatch
WORKDIR /data
ENV FRAUDWATCH_DATA_DIR=/data PYTHONUNBUFFERED=1
CMD ["fraudwatch", "--help"]
