// TanStack Query: one client for the console. Queries keep fetched data, deduplicate concurrent loads, poll
// where a page asks (refetchInterval), and retry network errors; an API 4xx is an answer, not a retry case.
import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./api";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        refetchOnWindowFocus: false,
        retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      },
    },
  });
}
