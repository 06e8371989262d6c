-- Airflow's metadata lives beside fraudwatch's store, in its own database (first start only).
CREATE DATABASE airflow;
