/**
 * The OPC UA standard nodeset the demo plant's server loads. node-opcua finds it beside its
 * package (node-opcua-nodesets/nodesets/); the single executable carries it as two assets, the
 * XML and the precompiled image node-opcua reads instead when it sits next to the XML (much
 * faster than parsing the XML), written once into `<dir>/opcua-nodesets-<sha256>/`.
 */
import { dirname } from 'node:path';
import { isSea, materializeAsset, SEA_ASSETS } from './sea-assets.ts';

/** undefined outside the single executable (node-opcua's own files are used) */
export function embeddedNodesetFiles(dir: string): string[] | undefined {
  if (!isSea()) return undefined;
  const xml = materializeAsset(SEA_ASSETS.nodesetXml, dir, (sha) => `opcua-nodesets-${sha.slice(0, 16)}/Opc.Ua.NodeSet2.xml`);
  materializeAsset(SEA_ASSETS.nodesetImage, dirname(xml), () => 'Opc.Ua.NodeSet2.ndjson.gz');
  return [xml];
}
