/**
 * The Run form: a field per declared parameter (typed, default shown, help as a
 * hint). A 422 answer puts each field's error next to it and the problems above.
 */

import { Button } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';
import { ApiError, errorText } from '../api';
import type { FormTarget, SidebarModel } from '../model';
import { fieldType, formParams, initialValue, RawValue } from '../params';
import type { IBadParameters, IParameter, IWorkflowDetail } from '../types';

export function RunForm(props: { model: SidebarModel; target: FormTarget }): JSX.Element {
  const { model, target } = props;
  const [detail, setDetail] = useState<IWorkflowDetail | null>(null);
  const [values, setValues] = useState<Record<string, RawValue>>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const title = target.kind === 'workflow' ? target.name : target.path;

  useEffect(() => {
    let current = true;
    const load = target.kind === 'workflow' ? model.api.workflow(target.name) : model.api.notebook(target.path);
    load.then(
      found => {
        if (current) {
          setDetail(found);
          setValues(Object.fromEntries(found.parameters.map(p => [p.name, initialValue(p)])));
          setProblems(found.problems);
        }
      },
      failure => current && setProblems([errorText(failure)])
    );
    return () => {
      current = false;
    };
  }, [model, target]);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!detail) {
      return;
    }
    setBusy(true);
    const params = formParams(detail.parameters, values);
    try {
      const started =
        target.kind === 'workflow'
          ? await model.api.startWorkflow(target.name, params)
          : await model.api.startNotebook(target.path, params);
      model.closeForm();
      model.filterRuns('');
      model.selectRun(started.run_id);
    } catch (failure) {
      const refused = failure instanceof ApiError && failure.status === 422 ? (failure.body as unknown as IBadParameters) : null;
      const fields = refused?.fields ?? {};
      setFieldErrors(fields);
      setProblems(refused ? unplaced(refused.problems ?? [], fields) : [errorText(failure)]);
      setBusy(false);
    }
  };

  const fieldCount = Object.keys(fieldErrors).length;
  return (
    <form className="jp-jetnb-form" data-jetnb="run-form" data-target={title} onSubmit={submit} noValidate>
      <div className="jp-jetnb-row">
        <span className="jp-jetnb-title">Run {detail?.name ?? title}</span>
        <span className="jp-jetnb-spacer" />
        <Button small minimal type="button" data-jetnb="close-form" onClick={() => model.closeForm()}>
          Back
        </Button>
      </div>
      {detail?.description && <div className="jp-jetnb-description">{detail.description}</div>}
      {(problems.length > 0 || fieldCount > 0) && (
        <div className="jp-jetnb-error" data-jetnb="form-problems">
          {fieldCount > 0 && <div>{fieldCount === 1 ? '1 field to correct below' : `${fieldCount} fields to correct below`}</div>}
          {problems.length > 0 && (
            <ul>
              {problems.map((problem, index) => (
                <li key={index}>{problem}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {detail === null && problems.length === 0 && <div className="jp-jetnb-muted">Loading…</div>}
      {detail?.parameters.length === 0 && <div className="jp-jetnb-muted">This notebook takes no parameters.</div>}
      {detail?.parameters.map(parameter => (
        <Field
          key={parameter.name}
          parameter={parameter}
          value={values[parameter.name] ?? initialValue(parameter)}
          error={fieldErrors[parameter.name]}
          onChange={value => setValues({ ...values, [parameter.name]: value })}
        />
      ))}
      {detail && (
        <Button type="submit" data-jetnb="submit-run" disabled={busy || detail.problems.length > 0}>
          {busy ? 'Starting…' : 'Run'}
        </Button>
      )}
    </form>
  );
}

function Field(props: {
  parameter: IParameter;
  value: RawValue;
  error: string | undefined;
  onChange: (value: RawValue) => void;
}): JSX.Element {
  const { parameter, value, error, onChange } = props;
  const { kind, optional } = fieldType(parameter.type);
  const id = `jp-jetnb-field-${parameter.name}`;
  const hint = [
    parameter.help,
    parameter.default_source
      ? `computed by the notebook: ${parameter.default_source}`
      : `default ${pythonic(parameter.default)}`,
    optional ? 'empty for None' : ''
  ]
    .filter(Boolean)
    .join(' · ');
  const common = {
    id,
    name: parameter.name,
    title: parameter.help || parameter.name,
    'aria-invalid': error ? true : undefined,
    'data-jetnb': 'field-input'
  };
  let input: JSX.Element;
  if (kind === 'checkbox') {
    input = <input {...common} type="checkbox" checked={value === true} onChange={e => onChange(e.target.checked)} />;
  } else if (kind === 'json') {
    input = (
      <textarea
        {...common}
        className="jp-mod-styled"
        rows={2}
        placeholder={parameter.default_source ?? 'JSON'}
        value={String(value)}
        onChange={e => onChange(e.target.value)}
      />
    );
  } else {
    input = (
      <input
        {...common}
        className="jp-mod-styled"
        type={kind === 'number' ? 'number' : 'text'}
        step={parameter.type.includes('float') ? 'any' : undefined}
        placeholder={parameter.default_source ?? (optional ? 'None' : '')}
        value={String(value)}
        onChange={e => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className={`jp-jetnb-field${error ? ' jp-jetnb-mod-invalid' : ''}`} data-jetnb="field" data-name={parameter.name}>
      <label htmlFor={id}>
        {parameter.name} <span className="jp-jetnb-muted">{parameter.type}</span>
      </label>
      {input}
      {error && (
        <div className="jp-jetnb-field-error" data-jetnb="field-error">
          {error}
        </div>
      )}
      {hint && <div className="jp-jetnb-hint">{hint}</div>}
    </div>
  );
}

/** A default as the parameters cell wrote it: None, True, False, else JSON. */
function pythonic(value: unknown): string {
  return value === null || value === undefined ? 'None' : value === true ? 'True' : value === false ? 'False' : JSON.stringify(value);
}

/** Problems not already shown next to a field (unknown parameters, notebook problems). */
function unplaced(problems: string[], fields: Record<string, string>): string[] {
  return problems.filter(problem => !Object.keys(fields).some(name => problem.startsWith(`parameter '${name}': `)));
}
