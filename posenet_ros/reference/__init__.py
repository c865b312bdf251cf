"""Development tools: the reference PoseNet 2.2.2 in Node (parity, speed ratio) and test photos.

Not used at run time by the estimator; needs Node.js + npm, and scikit-image for the photos.
"""
