/** The checkpoint store's ConfigMap port over the operator's KubeClient. */
import { CONFIGMAPS, type KubeClient, isNotFound } from '../runtime/kube-client.js';
import { FIELD_MANAGER } from '../runtime/status.js';
import type { ConfigMap, ConfigMapApi } from './configmap-checkpoint-store.js';

export function kubeConfigMapApi(kube: KubeClient): ConfigMapApi {
  return {
    async get(namespace, name, signal) {
      try {
        return await kube.get<ConfigMap>(CONFIGMAPS, namespace, name, signal);
      } catch (e: unknown) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
    async apply(cm, signal) {
      await kube.patch(
        CONFIGMAPS,
        { namespace: cm.metadata.namespace, name: cm.metadata.name },
        cm,
        {
          patchType: 'apply',
          fieldManager: FIELD_MANAGER,
          force: true,
          signal,
        },
      );
    },
  };
}
