/// safetensors reading and writing, and import of PyTorch state_dict files.
public enum CheckpointsModule {}
