// Starts Swagger UI over this server's OpenAPI description (a file, not inline: the page's
// Content-Security-Policy allows scripts from this origin only).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // the default asks an external validator about the schema
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
