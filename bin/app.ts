#!/usr/bin/env node
import { App, type Environment } from 'aws-cdk-lib';
import { parseStageConfig, STAGE_CONTEXT_KEY } from '../lib/config/stage-config.js';
import { addComplianceChecks, createWebhookPlatform } from '../lib/webhook-platform.js';

const app = new App();
const config = parseStageConfig(app.node.tryGetContext(STAGE_CONTEXT_KEY));

// The CLI sets CDK_DEFAULT_ACCOUNT only when it found credentials (and defaults the region to us-east-1 otherwise):
// pin the stacks to that account/region then; without credentials, synth stays environment-agnostic and offline.
const { CDK_DEFAULT_ACCOUNT: account, CDK_DEFAULT_REGION: region } = process.env;
const env: Environment | undefined = account ? { account, region } : undefined;

createWebhookPlatform(app, config, env);
addComplianceChecks(app);
app.synth();
