import type { ReactNode } from 'react';
import { ApiError } from '../api';
import type { Resource } from '../use-resource';

export function ErrorBox({ error }: { error: unknown }) {
  const message =
    error instanceof ApiError
      ? `${error.message} (${error.status} ${error.code})`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <div className="error" role="alert">
      {message}
    </div>
  );
}

/** Loading and error states of a resource; the children render once there is data. */
export function Loaded<T>({
  resource,
  children,
  skeletonHeight = 120,
}: {
  resource: Resource<T>;
  children: (data: T) => ReactNode;
  skeletonHeight?: number;
}) {
  if (resource.data !== undefined)
    return (
      <>
        {resource.error !== undefined && <ErrorBox error={resource.error} />}
        {children(resource.data)}
      </>
    );
  if (resource.error !== undefined) return <ErrorBox error={resource.error} />;
  // A placeholder of the content's size keeps the page from jumping when the data arrives.
  return (
    <div className="skeleton" style={{ minHeight: skeletonHeight }} aria-busy="true">
      Loading…
    </div>
  );
}

export function StatePill({ state }: { state: string }) {
  return <span className={`pill pill-${state.toLowerCase().replace(/[^a-z]/g, '-')}`}>{state}</span>;
}
