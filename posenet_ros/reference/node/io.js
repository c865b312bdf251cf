'use strict';
// Files in and out of the harness: PNG images, and raw little-endian float32 tensors.
const fs = require('fs');
const path = require('path');
const { tf, PNG } = require('./deps');

/** Decodes a PNG into an int32 [H, W, 3] tensor, as tf.browser.fromPixels would give. */
function readPng(file) {
  let png;
  try {
    png = PNG.sync.read(fs.readFileSync(file));
  } catch (error) {
    throw new Error(`cannot read ${file} as PNG: ${error.message}`);
  }
  const { width, height, data } = png; // pngjs always yields 8-bit RGBA
  const rgb = new Int32Array(width * height * 3);
  for (let src = 0, dst = 0; src < data.length; src += 4, dst += 3) {
    rgb[dst] = data[src];
    rgb[dst + 1] = data[src + 1];
    rgb[dst + 2] = data[src + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

function readFloat32(file, shape) {
  const bytes = fs.readFileSync(file);
  const expected = shape.reduce((a, b) => a * b, 1) * 4;
  if (bytes.length !== expected) {
    throw new Error(`${file}: ${bytes.length} bytes, expected ${expected} for shape [${shape}]`);
  }
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + expected));
  return tf.tensor(values, shape, 'float32');
}

/** Writes a tensor's float32 values to outDir/name.f32 and returns {file, shape}. */
async function writeFloat32(tensor, outDir, name) {
  const values = await tensor.data();
  const file = path.join(outDir, `${name}.f32`);
  fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  return { file, shape: tensor.shape };
}

module.exports = { readPng, readFloat32, writeFloat32 };
