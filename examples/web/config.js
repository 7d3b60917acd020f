// Configuration of the demo page. Edit these two values to point the page elsewhere.

// Where basiq-bff listens, as the browser reaches it (its PUBLIC_BASE_URL). The BFF must list
// this page's origin in CORS_ALLOWED_ORIGINS and ALLOWED_RETURN_URLS; docker-compose.yml and
// .env.example already allow http://localhost:8081.
export const BFF_BASE_URL = 'http://localhost:8080';

// !!! DEV ONLY !!! The HS256 secret the "Use demo user" button signs app JWTs with: the public
// development value of APP_JWT_SECRET in docker-compose.yml and .env.example. A real app never
// holds a JWT secret: its identity provider signs the user's JWT and the app only passes it on.
// Set this to null to hide the button.
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production-0123456789';
