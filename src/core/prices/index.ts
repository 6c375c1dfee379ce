/**
 * Prices (`README.md`): the dated catalogue of API rates and the pure pricing function.
 *
 * @example
 * import { price, defaultPriceCatalogue } from '../core/prices/index.ts';
 * const r = price('claude-opus-5-5', { input_tokens: 1000, output_tokens: 2000 }, at, defaultPriceCatalogue);
 */
export {
  catalogueAliasesMax,
  catalogueModelsMax,
  catalogueRowsMax,
  listPricesAt,
  modelIdLengthMax,
  type PriceCatalogue,
  PriceCatalogueError,
  type PriceCatalogueJson,
  type PriceListing,
  type PriceListingRow,
  type PriceModel,
  type PriceModelJson,
  type PriceModifiersJson,
  type PriceRowJson,
  parsePriceCatalogue,
  type TokenCategory,
  tokenCategories,
} from './catalogue.ts';
export { defaultPriceCatalogue, defaultPriceCatalogueJson } from './default-catalogue.ts';
export { resolvedModelCacheMax, resolveModel } from './model-ids.ts';
export {
  type PriceLine,
  type PriceLineCategory,
  type PriceModifier,
  type PriceResult,
  price,
} from './price.ts';
export {
  type InferenceGeo,
  type ServiceTier,
  type Speed,
  tokenCountMax,
  type Usage,
  type UsageValidation,
  validateUsage,
} from './usage.ts';
