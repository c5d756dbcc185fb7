/**
 * Form fields for declared parameters, and the values a form sends.
 *
 * The server is the one validator (the same `coerce_params` as `jetnb run -p`):
 * the form only turns what was typed into JSON, and sends text it cannot turn
 * into the declared kind as text, so the server's message reaches the field.
 */

import type { IParameter } from './types';

export type FieldKind = 'number' | 'checkbox' | 'text' | 'json';
export type RawValue = string | boolean;

export interface IFieldType {
  kind: FieldKind;
  /** Optional[...]: an empty field means None */
  optional: boolean;
}

export function fieldType(declared: string): IFieldType {
  const optional = /^Optional\[(.*)\]$/.exec(declared);
  const base = optional ? optional[1] : declared;
  const kind: FieldKind =
    base === 'int' || base === 'float'
      ? 'number'
      : base === 'bool'
        ? 'checkbox'
        : base === 'str'
          ? 'text'
          : 'json';
  return { kind, optional: optional !== null };
}

/** What a field shows at first: the declared default (empty for a default the notebook computes). */
export function initialValue(parameter: IParameter): RawValue {
  const { kind } = fieldType(parameter.type);
  const value = parameter.default;
  if (kind === 'checkbox') {
    return value === true;
  }
  if (value === null || value === undefined) {
    return '';
  }
  return kind === 'json' ? JSON.stringify(value) : String(value);
}

/**
 * The `params` to send: an empty field is None for an Optional parameter and
 * is left out otherwise (the notebook's default applies, computed ones too).
 */
export function formParams(
  parameters: IParameter[],
  values: Record<string, RawValue>
): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const parameter of parameters) {
    const { kind, optional } = fieldType(parameter.type);
    const raw = values[parameter.name] ?? initialValue(parameter);
    if (kind === 'checkbox') {
      params[parameter.name] = raw === true;
      continue;
    }
    const text = String(raw);
    if (text.trim() === '' && (kind !== 'text' || optional || parameter.default_source)) {
      if (optional) {
        params[parameter.name] = null;
      }
      continue;
    }
    if (kind === 'number' && text.trim() !== '' && Number.isFinite(Number(text))) {
      params[parameter.name] = Number(text);
    } else if (kind === 'json') {
      params[parameter.name] = parseJson(text);
    } else {
      params[parameter.name] = text;
    }
  }
  return params;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // the server reads it by the declared type (JSON or YAML) or says why not
  }
}
