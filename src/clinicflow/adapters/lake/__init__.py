"""The analytics lake's table format: Apache Iceberg through pyiceberg (`iceberg.py`)."""
