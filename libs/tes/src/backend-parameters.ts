/**
 * backend_parameters keys the broker understands (case-insensitive, per the spec), listed in service-info
 * `tesResources_backend_parameters`, each with a check of its value.
 */
export const BACKEND_PARAMETERS: Record<string, { check: (v: string) => boolean; expected: string }> = {
  'constellation.site': { check: (v) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(v), expected: 'a site slug' },
  'constellation.gpus': {
    check: (v) => /^\d{1,3}$/.test(v),
    expected: 'a whole number of GPUs from 0 to 999',
  },
  'constellation.gpu_type': {
    check: (v) => /^[A-Za-z0-9_.+-]{1,64}$/.test(v),
    expected: 'a GPU type such as A100',
  },
  'constellation.rerun_on_site_loss': { check: (v) => /^(true|false)$/i.test(v), expected: 'true or false' },
};

export const BACKEND_PARAMETER_KEYS = Object.keys(BACKEND_PARAMETERS);
