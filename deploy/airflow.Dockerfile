# Airflow 3 with fraudwatch installed into it, pinned by airflow/constraints.txt (the lock of
# `make airflow-venv`). The official image brings the Postgres driver for the metadata DB.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root pyproject.toml README.md /opt/fraudwatch/
COPY --chown=airflow:root src /opt/fraudwatch/src
COPY --chown=airflow:root airflow/constraints.txt /opt/fraudwatch/airflow/constraints.txt
# the tasks' extras only, as `make airflow-venv`: the Postgres driver and the Redis client
RUN pip install --no-cache-dir -c /opt/fraudwatch/airflow/constraints.txt \
    "apache-airflow==3.3.2" "/opt/fraudwatch[postgres,redis]"
COPY --chown=airflow:root airflow/dags /opt/airflow/dags
