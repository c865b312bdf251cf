// Runs the decoders of @tensorflow-models/posenet 2.2.2 (tfjs 3.21 CPU) on raw network outputs.
// Usage: node reference_decode.js REQUEST.json RESPONSE.json (NODE_PATH = the harness's
// node_modules). The request names one float32 file holding, per case, the heatmap logits,
// offsets, forward and backward displacements, each (H, W, C) row-major.
'use strict';
const fs = require('fs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const {decodeSinglePose} = require('@tensorflow-models/posenet/dist/single_pose/decode_single_pose');
const {decodeMultiplePoses} = require('@tensorflow-models/posenet/dist/multi_pose/decode_multiple_poses');

const asRows = (pose) => ({
  score: pose.score,
  keypoints: pose.keypoints.map((k) => [k.position.x, k.position.y, k.score]),
});

async function main() {
  await tf.setBackend('cpu');
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const bytes = fs.readFileSync(request.data);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const results = [];
  for (const c of request.cases) {
    const [height, width] = c.shape;
    let at = c.offset;
    const take = (channels) => {
      const size = height * width * channels;
      const tensor = tf.tensor3d(data.slice(at, at + size), [height, width, channels]);
      at += size;
      return tensor;
    };
    const [logits, offsets, fwd, bwd] = [take(17), take(34), take(32), take(32)];
    const scores = tf.sigmoid(logits);  // as the reference's base model does
    const single = await decodeSinglePose(scores, offsets, c.stride);
    const buffers = await Promise.all([scores, offsets, fwd, bwd].map((t) => t.buffer()));
    const multi = decodeMultiplePoses(
        ...buffers, c.stride, c.maxDetections, c.scoreThreshold, c.nmsRadius);
    results.push({single: asRows(single), multi: multi.map(asRows)});
    tf.dispose([logits, offsets, fwd, bwd, scores]);
  }
  fs.writeFileSync(process.argv[3], JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
