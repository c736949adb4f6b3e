/**
 * Asset name validation, ported from the node's src/assets/assets.cpp
 * (`IsAssetNameValid` and helpers), used where the node's JSON depends on it.
 *
 * @module
 */

/** Asset name kinds, as the node's `AssetType`. */
export type AssetNameType =
  | "root"
  | "sub"
  | "unique"
  | "msgchannel"
  | "qualifier"
  | "sub_qualifier"
  | "restricted"
  | "vote"
  | "owner"
  | "invalid";

const MAX_NAME_LENGTH = 31;
const MAX_CHANNEL_NAME_LENGTH = 12;
const MIN_ASSET_LENGTH = 3;

const ROOT_NAME_CHARACTERS = /^[A-Z0-9._]{3,}$/;
const SUB_NAME_CHARACTERS = /^[A-Z0-9._]+$/;
const UNIQUE_TAG_CHARACTERS = /^[-A-Za-z0-9@$%&*()[\]{}_.?:]+$/;
const MSG_CHANNEL_TAG_CHARACTERS = /^[A-Za-z0-9_]+$/;
const VOTE_TAG_CHARACTERS = /^[A-Z0-9._]+$/;
const QUALIFIER_NAME_CHARACTERS = /^#[A-Z0-9._]{3,}$/;
const SUB_QUALIFIER_NAME_CHARACTERS = /^#[A-Z0-9._]+$/;
const RESTRICTED_NAME_CHARACTERS = /^\$[A-Z0-9._]{3,}$/;
const DOUBLE_PUNCTUATION = /[._]{2,}/;
const LEADING_PUNCTUATION = /^[._]/;
const TRAILING_PUNCTUATION = /[._]$/;
const QUALIFIER_LEADING_PUNCTUATION = /^[#$][._]/;
const UNIQUE_INDICATOR = /^[^^~#!]+#[^~#!/]+$/;
const MSG_CHANNEL_INDICATOR = /^[^^~#!]+~[^~#!/]+$/;
const OWNER_INDICATOR = /^[^^~#!]+!$/;
const VOTE_INDICATOR = /^[^^~#!]+\^[^~#!/]+$/;
const QUALIFIER_INDICATOR = /^[#][A-Z0-9._]{3,}$/;
const SUB_QUALIFIER_INDICATOR = /^#[A-Z0-9._]+\/#[A-Z0-9._]+$/;
const RESTRICTED_INDICATOR = /^[$][A-Z0-9._]{3,}$/;
const EVRMORE_NAMES = new Set([
  "EVR",
  "EVER",
  "EVRMORE",
  "EVERMORE",
  "EVRMORECOIN",
  "EVERMORECOIN",
  "EVRS",
  "EVERS",
  "EVRMORES",
  "EVERMORES",
  "EVRMORECOINS",
  "EVERMORECOINS",
  "#EVR",
  "#EVER",
  "#EVRMORE",
  "#EVERMORE",
  "#EVRMORECOIN",
  "#EVERMORECOIN",
  "#EVRS",
  "#EVERS",
  "#EVRMORES",
  "#EVERMORES",
  "#EVRMORECOINS",
  "#EVERMORECOINS",
  "RVN",
  "RAVEN",
  "RAVENCOIN",
  "RVNS",
  "RAVENS",
  "RAVENCOINS",
  "#RVN",
  "#RAVEN",
  "#RAVENCOIN",
  "#RVNS",
  "#RAVENS",
  "#RAVENCOINS",
]);

function punctuationOk(name: string): boolean {
  return !DOUBLE_PUNCTUATION.test(name) && !LEADING_PUNCTUATION.test(name) &&
    !TRAILING_PUNCTUATION.test(name);
}

function isRootNameValid(name: string): boolean {
  return ROOT_NAME_CHARACTERS.test(name) && punctuationOk(name) &&
    !EVRMORE_NAMES.has(name);
}

function isQualifierNameValid(name: string): boolean {
  return QUALIFIER_NAME_CHARACTERS.test(name) &&
    !DOUBLE_PUNCTUATION.test(name) &&
    !QUALIFIER_LEADING_PUNCTUATION.test(name) &&
    !TRAILING_PUNCTUATION.test(name) && !EVRMORE_NAMES.has(name);
}

function isRestrictedNameValid(name: string): boolean {
  return RESTRICTED_NAME_CHARACTERS.test(name) && punctuationOk(name) &&
    !EVRMORE_NAMES.has(name);
}

function isSubQualifierNameValid(name: string): boolean {
  return SUB_QUALIFIER_NAME_CHARACTERS.test(name) && punctuationOk(name);
}

function isSubNameValid(name: string): boolean {
  return SUB_NAME_CHARACTERS.test(name) && punctuationOk(name);
}

function isMsgChannelTagValid(tag: string): boolean {
  return MSG_CHANNEL_TAG_CHARACTERS.test(tag) && punctuationOk(tag);
}

function isNameValidBeforeTag(name: string): boolean {
  const parts = name.split("/");
  if (!isRootNameValid(parts[0]!)) return false;
  for (let i = 1; i < parts.length; i++) {
    if (!isSubNameValid(parts[i]!)) return false;
  }
  return true;
}

function isQualifierNameValidBeforeTag(name: string): boolean {
  const parts = name.split("/");
  if (!isQualifierNameValid(parts[0]!)) return false;
  if (parts.length > 2) return false;
  for (let i = 1; i < parts.length; i++) {
    if (!isSubQualifierNameValid(parts[i]!)) return false;
  }
  return true;
}

function isAssetNameASubasset(name: string): boolean {
  const parts = name.split("/");
  return isRootNameValid(parts[0]!) && parts.length > 1;
}

function isAssetNameASubQualifier(name: string): boolean {
  const parts = name.split("/");
  return isQualifierNameValid(parts[0]!) && parts.length > 1;
}

function typeCheck(type: AssetNameType, name: string): boolean {
  switch (type) {
    case "unique": {
      if (name.length > MAX_NAME_LENGTH) return false;
      const parts = name.split("#");
      return isNameValidBeforeTag(parts[0]!) &&
        UNIQUE_TAG_CHARACTERS.test(parts[parts.length - 1]!);
    }
    case "msgchannel": {
      if (name.length > MAX_NAME_LENGTH) return false;
      const parts = name.split("~");
      const tag = parts[parts.length - 1]!;
      const valid = isNameValidBeforeTag(parts[0]!) &&
        isMsgChannelTagValid(tag);
      if (tag.length > MAX_CHANNEL_NAME_LENGTH) return false;
      return valid;
    }
    case "owner":
      if (name.length > MAX_NAME_LENGTH) return false;
      return isNameValidBeforeTag(name.slice(0, -1));
    case "vote": {
      if (name.length > MAX_NAME_LENGTH) return false;
      const parts = name.split("^");
      return isNameValidBeforeTag(parts[0]!) &&
        VOTE_TAG_CHARACTERS.test(parts[parts.length - 1]!);
    }
    case "qualifier":
    case "sub_qualifier":
      if (name.length > MAX_NAME_LENGTH) return false;
      return isQualifierNameValidBeforeTag(name);
    case "restricted":
      if (name.length > MAX_NAME_LENGTH) return false;
      return isRestrictedNameValid(name);
    default:
      if (name.length > MAX_NAME_LENGTH - 1) return false;
      if (!isAssetNameASubasset(name) && name.length < MIN_ASSET_LENGTH) {
        return false;
      }
      return isNameValidBeforeTag(name);
  }
}

/**
 * The kind of a valid asset name, or "invalid" (the node's `IsAssetNameValid`).
 *
 * @param name The asset name.
 * @returns Its kind.
 */
export function assetNameType(name: string): AssetNameType {
  if (name.length > 40) return "invalid";
  let type: AssetNameType;
  if (UNIQUE_INDICATOR.test(name)) type = "unique";
  else if (MSG_CHANNEL_INDICATOR.test(name)) type = "msgchannel";
  else if (OWNER_INDICATOR.test(name)) type = "owner";
  else if (VOTE_INDICATOR.test(name)) type = "vote";
  else if (QUALIFIER_INDICATOR.test(name)) {
    if (!typeCheck("qualifier", name)) return "invalid";
    return isAssetNameASubQualifier(name) ? "sub_qualifier" : "qualifier";
  } else if (SUB_QUALIFIER_INDICATOR.test(name)) {
    if (!typeCheck("sub_qualifier", name)) return "invalid";
    return isAssetNameASubQualifier(name) ? "sub_qualifier" : "invalid";
  } else if (RESTRICTED_INDICATOR.test(name)) type = "restricted";
  else type = isAssetNameASubasset(name) ? "sub" : "root";
  return typeCheck(type, name) ? type : "invalid";
}

/**
 * Whether a name is a valid owner token name (`NAME!`).
 *
 * @param name The asset name.
 * @returns True for owner names.
 */
export function isOwnerName(name: string): boolean {
  return assetNameType(name) === "owner";
}
