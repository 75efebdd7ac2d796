"""Schedule proposals: for a coming week, which hours each practitioner works for which
service, to serve the forecast demand (and keep regular patients with their practitioner);
shown to the owner beside what a greedy rule would do, never applied by itself."""
