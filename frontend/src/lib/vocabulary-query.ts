// The vocabulary's query: GET /api/v1/vocabulary, shaped for components by vocabularyFrom (./vocabulary.ts, pure,
// so that node-only code and tests can use the code lists without the API client).
import { useSuspenseQuery } from "@tanstack/react-query";
import { api } from "../api/client";
import { unwrap } from "../api/errors";
import { vocabularyFrom, type Vocabulary } from "./vocabulary";

/** The query key of the vocabulary (one answer for the whole app). */
export const vocabularyKeys = { all: ["vocabulary"] as const };

/** GET /api/v1/vocabulary, asked once per session (it changes only with a deployment); suspends until it has it. */
export function useVocabulary(): Vocabulary {
  const { data } = useSuspenseQuery({
    queryKey: vocabularyKeys.all,
    queryFn: async () => unwrap(await api.GET("/api/v1/vocabulary")),
    staleTime: Infinity,
    select: vocabularyFrom,
  });
  return data;
}

