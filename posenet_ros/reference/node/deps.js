'use strict';
// Loads the pinned npm packages from the node_modules that runner.py installed (`npm ci`, cached
// by lockfile hash). POSENET_REFERENCE_NODE_ROOT names the folder holding that node_modules;
// without it, the one next to this script is used (a manual `npm ci` here).
const path = require('path');
const { createRequire } = require('module');

const root = process.env.POSENET_REFERENCE_NODE_ROOT || __dirname;
const requireDep = createRequire(path.join(root, 'package.json'));

const tf = requireDep('@tensorflow/tfjs-core');
requireDep('@tensorflow/tfjs-backend-cpu');
const tfconv = requireDep('@tensorflow/tfjs-converter');
const posenet = requireDep('@tensorflow-models/posenet');
// padAndResizeTo is the reference's own preprocessing; dist/util is not re-exported by index.
const posenetUtil = requireDep('@tensorflow-models/posenet/dist/util');
const { PNG } = requireDep('pngjs');

const versions = {
  'tfjs-core': tf.version_core,
  'tfjs-converter': tfconv.version_converter,
  posenet: posenet.version,
  node: process.version,
};

module.exports = { tf, posenet, posenetUtil, PNG, versions };
