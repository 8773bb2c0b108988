/// Dataset readers, normalisation, shuffling and sharding by rank.
public enum DatasetsModule {}
