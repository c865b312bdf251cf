"""PoseNet weights: fetch and verify, read the TF.js graph, rebuild MobileNetV1, export ONNX."""
