'use strict';
// Reference PoseNet 2.2.2 (tfjs 3.21, CPU backend) for parity checks and speed comparisons.
// Usage: node reference.js REQUEST.json RESPONSE.json
// REQUEST: {"model": {"json", "bin"}, "jobs": [job, ...]}; RESPONSE: {"versions", "results"},
// one result per job in order. Jobs (see runner.py, which writes them):
//   {"kind": "poses", "images": [png...], "config": {...}} -> [{"image", "poses"}] per image
//   {"kind": "raw", "outputStride", "outDir", "image": png, "inputResolution"}
//     or {"kind": "raw", "outputStride", "outDir", "input": {"file", "shape"}}
//     -> {name: {"file", "shape"}} for the four raw outputs (heatmap as logits), plus the
//        resized and normalised input when an image was given
//   {"kind": "timing", "images", "config", "repeats", "warmup"} -> {"perImageMs", "meanMs"}
const fs = require('fs');
const { tf, posenetUtil, versions } = require('./deps');
const { ModelCache } = require('./model');
const { readPng, readFloat32, writeFloat32 } = require('./io');

function toCliPose(pose) {
  return {
    score: pose.score,
    keypoints: pose.keypoints.map((kp) => ({
      part: kp.part,
      score: kp.score,
      x: kp.position.x,
      y: kp.position.y,
    })),
  };
}

async function estimate(net, image, config) {
  if (config.mode === 'single') {
    return [await net.estimateSinglePose(image, { flipHorizontal: config.flipHorizontal })];
  }
  if (config.mode === 'multi') {
    return net.estimateMultiplePoses(image, {
      flipHorizontal: config.flipHorizontal,
      maxDetections: config.maxDetections,
      scoreThreshold: config.scoreThreshold,
      nmsRadius: config.nmsRadius,
    });
  }
  throw new Error(`unknown mode ${JSON.stringify(config.mode)}: expected single or multi`);
}

async function withImages(files, body) {
  const images = files.map(readPng);
  try {
    return await body(images);
  } finally {
    images.forEach((image) => image.dispose());
  }
}

async function runPoses(models, job) {
  const { config } = job;
  const net = await models.net(config.outputStride, config.inputResolution);
  return withImages(job.images, async (images) => {
    const results = [];
    for (const image of images) {
      const poses = await estimate(net, image, config);
      const [height, width] = image.shape;
      results.push({ image: { width, height }, poses: poses.map(toCliPose) });
    }
    return results;
  });
}

async function runRaw(models, job) {
  const graph = (await models.net(job.outputStride, job.inputResolution || 257)).baseModel.model;
  const written = {};
  let input;
  if (job.image != null) {
    const image = readPng(job.image);
    const [res] = posenetUtil.getValidInputResolutionDimensions(job.inputResolution, job.outputStride);
    const { resized } = posenetUtil.padAndResizeTo(image, [res, res]);
    written.resized = await writeFloat32(resized, job.outDir, 'resized');
    input = tf.tidy(() => tf.expandDims(tf.sub(tf.div(resized, 127.5), 1.0), 0));
    written.input = await writeFloat32(input, job.outDir, 'input');
    image.dispose();
    resized.dispose();
  } else {
    input = readFloat32(job.input.file, job.input.shape);
  }
  const [offsets, heatmap, displacementFwd, displacementBwd] = graph.predict(input);
  const outputs = { heatmap, offsets, displacement_fwd: displacementFwd, displacement_bwd: displacementBwd };
  for (const [name, tensor] of Object.entries(outputs)) {
    written[name] = await writeFloat32(tensor, job.outDir, name);
    tensor.dispose();
  }
  input.dispose();
  return written;
}

async function runTiming(models, job) {
  const { config } = job;
  const net = await models.net(config.outputStride, config.inputResolution);
  return withImages(job.images, async (images) => {
    const perImageMs = [];
    for (const image of images) {
      for (let i = 0; i < job.warmup; i += 1) {
        await estimate(net, image, config);
      }
      const start = process.hrtime.bigint();
      for (let i = 0; i < job.repeats; i += 1) {
        await estimate(net, image, config);
      }
      perImageMs.push(Number(process.hrtime.bigint() - start) / 1e6 / job.repeats);
    }
    const meanMs = perImageMs.reduce((a, b) => a + b, 0) / perImageMs.length;
    return { perImageMs, meanMs };
  });
}

const RUNNERS = { poses: runPoses, raw: runRaw, timing: runTiming };

async function main(requestFile, responseFile) {
  const request = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
  await tf.setBackend('cpu');
  await tf.ready();
  const models = new ModelCache(request.model.json, request.model.bin);
  const results = [];
  for (const job of request.jobs) {
    const run = RUNNERS[job.kind];
    if (run == null) {
      throw new Error(`unknown job kind ${JSON.stringify(job.kind)}: expected poses, raw or timing`);
    }
    models.memoize = job.kind === 'poses';
    results.push(await run(models, job));
  }
  fs.writeFileSync(responseFile, JSON.stringify({ versions, backend: tf.getBackend(), results }));
}

if (process.argv.length !== 4) {
  process.stderr.write('usage: node reference.js REQUEST.json RESPONSE.json\n');
  process.exit(2);
}
main(process.argv[2], process.argv[3]).catch((error) => {
  process.stderr.write(`reference: ${error.message}\n`);
  process.exit(1);
});
