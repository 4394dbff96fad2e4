export { isSea, seaAsset, seaText, materializeAsset, SEA_ASSETS } from './sea-assets.ts';
export { sqliteNativeBinding, type NativeBindingOption } from './native-addon.ts';
export { agentVersion } from './agent-version.ts';
export { workerScript, type WorkerScript } from './worker-script.ts';
export { embeddedDashboard, embeddedFleetDashboard, type EmbeddedDashboard, type EmbeddedFleetDashboard } from './embedded-dashboard.ts';
export { embeddedNodesetFiles } from './embedded-nodesets.ts';
