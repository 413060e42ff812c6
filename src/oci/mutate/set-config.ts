import type { ImageConfig } from "../v1/config.js";

/** The runtime part of a config (`config.config`) that Inlay changes. */
export interface ContainerConfigPatch {
  entrypoint?: string[];
  /** Labels to set; `null` removes a label. */
  labels?: Record<string, string | null>;
}

/**
 * Sets Entrypoint and labels, leaving Cmd and every other field exactly as they were. Pure.
 */
export function patchContainerConfig(config: ImageConfig, patch: ContainerConfigPatch): ImageConfig {
  const cc = { ...(config.config ?? {}) };
  if (patch.entrypoint) cc.Entrypoint = [...patch.entrypoint];
  if (patch.labels) {
    const labels: Record<string, string> = { ...(cc.Labels ?? {}) };
    for (const [k, v] of Object.entries(patch.labels)) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    cc.Labels = labels;
  }
  return { ...config, config: cc };
}
