'use strict';
// Turns the human-models PoseNet graph (fixed 385x385 input, outputs in signature-key order,
// output stride 16) into what posenet 2.2.2's MobileNet loader expects, and hands it to
// posenet.load() through an in-memory IOHandler.
const crypto = require('crypto');
const fs = require('fs');
const { tf, posenet } = require('./deps');

// posenet 2.2.2's MobileNet.nameOutputResults reads outputs by position in this order.
const OUTPUT_NODES = [
  ['MobilenetV1/offset_2/BiasAdd', 34],
  ['MobilenetV1/heatmap_2/BiasAdd', 17],
  ['MobilenetV1/displacement_fwd_2/BiasAdd', 32],
  ['MobilenetV1/displacement_bwd_2/BiasAdd', 32],
];
const INPUT_NODE = 'image';
const DEPTHWISE = /^MobilenetV1\/MobilenetV1\/Conv2d_(\d+)_depthwise\//;
// Stride 8: block 6 (the stride-2 layer past the target stride) runs at stride 1 and every
// later depthwise conv uses dilation 2 -- the MobileNetV1 schedule the reference follows.
const STRIDE8_FIRST_BLOCK = 6;

function dims(sizes) {
  return { dim: sizes.map((size) => ({ size: String(size) })) };
}

function intList(values) {
  return { list: { i: values.map(String) } };
}

function rewriteForStride(nodes, outputStride) {
  if (outputStride === 16) {
    return;
  }
  if (outputStride !== 8) {
    throw new Error(`output stride ${outputStride} not supported: expected 8 or 16`);
  }
  let rewritten = 0;
  for (const node of nodes) {
    const match = DEPTHWISE.exec(node.name);
    if (match == null || Number(match[1]) < STRIDE8_FIRST_BLOCK) {
      continue;
    }
    if (node.op !== 'FusedDepthwiseConv2dNative') {
      throw new Error(`unexpected op ${node.op} for ${node.name}`);
    }
    if (Number(match[1]) === STRIDE8_FIRST_BLOCK) {
      node.attr.strides = intList([1, 1, 1, 1]);
    } else {
      node.attr.dilations = intList([1, 2, 2, 1]);
    }
    rewritten += 1;
  }
  if (rewritten !== 8) {
    throw new Error(`expected depthwise blocks 6..13 in the graph, found ${rewritten}`);
  }
}

function rewriteTopology(modelJson, outputStride) {
  const topology = JSON.parse(JSON.stringify(modelJson.modelTopology));
  const input = topology.node.find((node) => node.name === INPUT_NODE);
  if (input == null) {
    throw new Error(`graph has no '${INPUT_NODE}' input node`);
  }
  input.attr.shape = { shape: dims([-1, -1, -1, 3]) };
  rewriteForStride(topology.node, outputStride);
  const outputs = {};
  for (const [name, channels] of OUTPUT_NODES) {
    if (!topology.node.some((node) => node.name === name)) {
      throw new Error(`graph has no output node '${name}'`);
    }
    outputs[`${name}:0`] = {
      name: `${name}:0`,
      dtype: 'DT_FLOAT',
      tensorShape: dims([-1, -1, -1, channels]),
    };
  }
  const signature = {
    inputs: {
      [`${INPUT_NODE}:0`]: {
        name: `${INPUT_NODE}:0`,
        dtype: 'DT_FLOAT',
        tensorShape: dims([-1, -1, -1, 3]),
      },
    },
    outputs,
  };
  return { topology, signature };
}

function ioHandler(modelJson, weightData, outputStride) {
  const { topology, signature } = rewriteTopology(modelJson, outputStride);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  return {
    load: async () => ({
      modelTopology: topology,
      signature,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
      weightSpecs,
      weightData,
    }),
  };
}

/**
 * Wraps graph.predict so that an input already seen (same shape and bytes) returns the outputs
 * computed before. The network is a pure function, so the reference's answers do not change;
 * it lets the parity matrix (single/multi, flipped or not: posenet 2.2.2 flips only the output
 * coordinates) run the slow CPU network once per image, resolution and stride. Off for timing.
 */
function memoizePredict(graph, isEnabled) {
  const predict = graph.predict.bind(graph);
  const seen = new Map();
  graph.predict = (input, config) => {
    if (!isEnabled()) {
      return predict(input, config);
    }
    const bytes = input.dataSync();
    const key = crypto
      .createHash('sha256')
      .update(`${input.shape}:`)
      .update(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      .digest('hex');
    if (!seen.has(key)) {
      seen.set(key, predict(input, config).map((output) => tf.keep(output)));
    }
    return seen.get(key).map((output) => tf.clone(output));
  };
}

/** Reads posenet.json + posenet.bin once and loads PoseNet per (stride, resolution), cached. */
class ModelCache {
  constructor(jsonPath, binPath) {
    this.modelJson = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
    const groups = this.modelJson.weightsManifest;
    if (!Array.isArray(groups) || groups.length !== 1) {
      throw new Error(`${jsonPath}: expected one weights group (one .bin file)`);
    }
    const bin = fs.readFileSync(binPath);
    this.weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    this.nets = new Map();
    this.memoize = false;
  }

  async net(outputStride, inputResolution) {
    const key = `${outputStride}/${inputResolution}`;
    if (!this.nets.has(key)) {
      const net = await posenet.load({
        architecture: 'MobileNetV1',
        outputStride,
        inputResolution,
        multiplier: 0.75,
        modelUrl: ioHandler(this.modelJson, this.weightData, outputStride),
      });
      memoizePredict(net.baseModel.model, () => this.memoize);
      this.nets.set(key, net);
    }
    return this.nets.get(key);
  }
}

module.exports = { ModelCache };
