#!/usr/bin/env node
// The admin tool (`npx sesame ...`). Runs the TypeScript sources through tsx, so a clone needs no build step.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('./sesame.ts');
