/** The production-interface path the marketplace is configured with (V1 GET and V2 POST on one URL). */
export const SAAS_PATH = '/koogallery/saas';
