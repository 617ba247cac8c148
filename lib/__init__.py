"""Flowscope: read AWS VPC Flow Logs without reading AWS docs."""
