"""dlt sources of ivs-replicas."""
