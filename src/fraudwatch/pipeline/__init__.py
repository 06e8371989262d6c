"""The streaming pipeline's stages: prepare (validate + tokenize), then features, score, sinks."""
